/**
 * What a rule refuses, as a reason code and its English words. The CLI, the admin API and OAuth
 * error descriptions say the English words; pages say the reason in the reader's language
 * (message `console.client.problem.<reason>`), with the same values.
 */
export interface RuleProblem<Reason extends string = string> {
  readonly reason: Reason
  /** English, with the values filled in. */
  readonly text: string
  /** The values the words name ({scheme}, {canonical}…). */
  readonly params: Readonly<Record<string, string>>
}

/** The English words of each reason a rule module gives, with {placeholders} for its values. */
export type ProblemWords<Reason extends string> = Readonly<Record<Reason, string>>

/** A problem from a module's table of words. */
export function ruleProblem<Reason extends string>(
  words: ProblemWords<Reason>,
  reason: Reason,
  params: Readonly<Record<string, string>> = {},
): RuleProblem<Reason> {
  const text = words[reason].replace(/\{(\w+)\}/g, (placeholder, name: string) => params[name] ?? placeholder)
  return { reason, text, params }
}
