import type { CliIo } from './context.js'

/**
 * Every command produces one result object. With --json it is printed as one JSON line (the last
 * line of stdout); otherwise as the human-readable text the command supplies.
 */
export interface CommandResult {
  readonly json: Record<string, unknown>
  readonly text: string
}

export function printResult(io: CliIo, result: CommandResult, json: boolean): void {
  if (json) io.stdout(JSON.stringify(result.json))
  else io.stdout(result.text)
}

export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return ''
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
