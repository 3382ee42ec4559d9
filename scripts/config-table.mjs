// Rewrites the README's configuration table from the field descriptions (src/config/config.ts),
// using the build in dist/ (npm run docs:config builds first). test/unit/config/readme-table.test.ts
// fails when the two differ.
import { readFileSync, writeFileSync } from 'node:fs'

const { renderConfigTable, TABLE_START, TABLE_END } = await import('../dist/src/config/table.js')
const readme = new URL('../README.md', import.meta.url)
const text = readFileSync(readme, 'utf8')
const start = text.indexOf(TABLE_START)
const end = text.indexOf(TABLE_END)
if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${TABLE_START} … ${TABLE_END}`)
writeFileSync(readme, `${text.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${text.slice(end)}`)
