/**
 * What the start log suggests doing next (main.ts). Single quotes keep each command whole when
 * pasted into a shell, inside the JSON log line too; test/unit/next-steps.test.ts runs each
 * through a shell and the CLI's parser.
 */
export const NEXT_STEP_COMMANDS = [
  "npx idp clients add --name 'My App' --redirect-uri https://app.example/callback",
  "echo 'a long passphrase' | npx idp users add --email you@example.com --password-stdin",
] as const

export const nextSteps = (issuer: string): string =>
  `Tessera is running at ${issuer}. Next steps: add a client with: ${NEXT_STEP_COMMANDS[0]} and a user with: ${NEXT_STEP_COMMANDS[1]}`
