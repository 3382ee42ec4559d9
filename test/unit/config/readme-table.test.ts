import t from 'tap'
import fs from 'node:fs'
import { renderConfigTable, TABLE_END, TABLE_START } from '../../../src/config/table.js'

t.test('the README configuration table is the one the config fields describe', async (t) => {
  const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  t.ok(start >= 0 && end > start, 'README.md has the table markers')
  const documented = readme.slice(start + TABLE_START.length, end).trim()
  t.equal(documented, renderConfigTable(), 'equal; when a field changes run: npm run docs:config')
})
