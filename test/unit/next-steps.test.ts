/**
 * The start log's next steps are pasted into a shell as printed: each goes through a real shell
 * (quotes, the pipe) and the CLI's parser. The command never runs: an invalid NODE_ENV makes the
 * CLI stop at loading its configuration, which it does only after the arguments parsed.
 */
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { runCli } from '../../src/cli/main.js'
import { NEXT_STEP_COMMANDS, nextSteps } from '../../src/next-steps.js'

/** `npx` as a shell function: what a shell would pass to `npx idp`, and what it reads on stdin. */
function asShellRuns(command: string): { argv: string[]; stdin: string } {
  const npx = `npx() { shift; printf '%s\\0' "$@"; printf '\\1'; cat; }`
  const out = execFileSync('sh', ['-c', `${npx}; ${command}`], { input: '', encoding: 'utf8' })
  const [args = '', stdin = ''] = out.split('\u0001')
  return { argv: args.split('\0').slice(0, -1), stdin }
}

async function parse(argv: readonly string[], stdin: string): Promise<{ code: number; stderr: string }> {
  const stderr: string[] = []
  const code = await runCli(argv, {
    env: { NODE_ENV: 'not-an-environment' },
    stdout: () => {},
    stderr: (line) => stderr.push(line),
    readStdin: async () => stdin,
  })
  return { code, stderr: stderr.join('\n') }
}

const REACHED_THE_COMMAND = /invalid configuration: NODE_ENV/

t.test('the start log prints both commands', async (t) => {
  const message = nextSteps('https://id.example')
  for (const command of NEXT_STEP_COMMANDS) t.ok(message.includes(command), command)
})

for (const command of NEXT_STEP_COMMANDS) {
  t.test(`parses as printed: ${command}`, async (t) => {
    const { argv, stdin } = asShellRuns(command)
    t.match(argv.slice(0, 2), [/^(clients|users)$/, 'add'], 'npx runs idp with the command')
    const { code, stderr } = await parse(argv, stdin)
    t.equal(code, 1)
    t.match(stderr, REACHED_THE_COMMAND, 'the arguments parsed; only the configuration stopped it')
  })
}

t.test('a command that does not parse is told apart (without the quotes)', async (t) => {
  const { argv } = asShellRuns('npx idp clients add --name My App --redirect-uri https://app.example/callback')
  const { code, stderr } = await parse(argv, '')
  t.equal(code, 1)
  t.notMatch(stderr, REACHED_THE_COMMAND)
  t.match(stderr, /too many arguments|usage/)
})

t.test('the name stays one argument and the password reaches the CLI on stdin', async (t) => {
  t.ok(asShellRuns(NEXT_STEP_COMMANDS[0]).argv.includes('My App'))
  t.equal(asShellRuns(NEXT_STEP_COMMANDS[1]).stdin, 'a long passphrase\n')
})
