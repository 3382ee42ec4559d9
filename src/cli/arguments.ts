/**
 * Small pieces shared by the command definitions (commander): repeatable options, non-empty ids,
 * examples at the end of a command's help.
 */
import { InvalidArgumentError } from 'commander'

/** Collects every use of a repeatable option (`--scope a --scope b`) in order. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** An id or email given as an argument; taken as is (it may begin with "-"), but not empty. */
export function nonEmpty(value: string): string {
  if (value === '') throw new InvalidArgumentError('it must not be empty')
  return value
}

/** The "Examples:" section printed after a command's options. */
export function examples(...lines: string[]): string {
  return ['', 'Examples:', ...lines.map((line) => `  $ ${line}`)].join('\n')
}
