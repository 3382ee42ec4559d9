/**
 * The README's configuration table, rendered from the field descriptions in config.ts, so the
 * documentation cannot drift from what is parsed (a test compares them; `npm run docs:config`
 * rewrites the README's table).
 */
import { configFields } from './config.js'
import type { Field } from './fields.js'

const cell = (text: string) => text.replace(/\|/g, '\\|')

export function renderConfigTable(): string {
  const rows = (Object.values(configFields) as Field<unknown>[]).map((field) => {
    const fallback = field.defaultText.startsWith('(') || field.defaultText.includes(' ') ? field.defaultText : `\`${field.defaultText}\``
    const name = field.fromFile === true ? `\`${field.env}\` (or \`${field.env}_FILE\`)` : `\`${field.env}\``
    return `| ${name} | ${cell(fallback)} | ${cell(field.doc)} |`
  })
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n')
}

/** The README's table sits between these two lines. */
export const TABLE_START = '<!-- config-table:start (generated from src/config/config.ts: npm run docs:config) -->'
export const TABLE_END = '<!-- config-table:end -->'
