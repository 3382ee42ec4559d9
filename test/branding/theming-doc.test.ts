/**
 * docs/theming.md's template contract lists every built-in template with the `it.*` fields it
 * reads, so a theme author knows what each template receives. This keeps the list in step with
 * the templates: a new template or field needs its line in the document.
 */
import fs from 'node:fs'
import t from 'tap'

const DOC = fs.readFileSync(new URL('../../docs/theming.md', import.meta.url), 'utf8')
const FOLDERS = [new URL('../../src/http/views/templates/', import.meta.url), new URL('../../src/mail/templates/', import.meta.url)]
/** Fields every template receives, described once above the table. */
const COMMON = new Set(['brand', 'productName', 't', 'rich', 'dateTime', 'lang'])

const fieldsOf = (text: string): string[] =>
  [...new Set([...text.matchAll(/\bit\.([A-Za-z_]\w*)/g)].map((m) => m[1]!))].filter((field) => !COMMON.has(field)).sort()

t.test('every built-in template has a row listing exactly the fields it reads', async (t) => {
  const rows = new Map(
    [...DOC.matchAll(/^\| `([\w-]+\.eta)` \| (.*) \|$/gm)].map((m) => [
      m[1]!,
      [...m[2]!.matchAll(/`it\.(\w+)`/g)].map((f) => f[1]!).sort(),
    ]),
  )
  const templates = FOLDERS.flatMap((folder) =>
    fs
      .readdirSync(folder)
      .filter((name) => name.endsWith('.eta'))
      .map((name) => ({ name, fields: fieldsOf(fs.readFileSync(new URL(name, folder), 'utf8')) })),
  )
  for (const { name, fields } of templates) t.same(rows.get(name), fields, `docs/theming.md: the row of ${name}`)
  t.same(
    [...rows.keys()].filter((name) => !templates.some((template) => template.name === name)),
    [],
    'no row for a template that does not exist',
  )
})
