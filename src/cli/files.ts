import fs from 'node:fs'
import { CliError } from './context.js'

/**
 * Writes a file that must not exist yet, readable by its owner only (mode 0600): exports hold
 * personal data and password hashes. An existing file is never overwritten.
 */
export function writeNewFile(file: string, content: string): void {
  try {
    fs.writeFileSync(file, content, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new CliError(`${file} exists already; give a new file name (nothing is overwritten)`)
    throw new CliError(`cannot write ${file}: ${code ?? (error as Error).message}`)
  }
}
