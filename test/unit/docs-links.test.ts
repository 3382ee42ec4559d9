/**
 * The docs cite tests as evidence (docs/security.md names the tests of each rule): every test path
 * or folder cited in README.md, every .md under docs/ and .taprc must exist, so a test moved or renamed
 * cannot leave a rule citing nothing.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'

const ROOT = path.resolve(import.meta.dirname, '../..')

function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`
    return entry.isDirectory() ? filesUnder(relative) : [relative]
  })
}

const markdown = filesUnder('docs').filter((file) => file.endsWith('.md'))
const SOURCES = ['README.md', ...markdown, '.taprc']

/** `test/…` at the start of a word (not inside a URL or another path), without trailing dots. */
function citedPaths(text: string): string[] {
  return [...text.matchAll(/(?<![\w./-])test\/[\w./*-]*/g)].map((match) => match[0].replace(/\.+$/, ''))
}

/** Globs as the docs write them: `*` within a segment, `**` and a slash for any folders. */
const globPattern = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .split(/(\*\*\/|\*)/)
      .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  )

t.test('citedPaths finds test paths, folders and globs, and nothing inside URLs', async (t) => {
  t.same(citedPaths('*Tests:* `test/a/b.test.ts`, `test/apis/*.test.ts`; see test/guides. https://x.example/test/no'), [
    'test/a/b.test.ts',
    'test/apis/*.test.ts',
    'test/guides',
  ])
  t.ok(globPattern('test/**/*.test.ts').test('test/unit/oauth/pkce.test.ts'))
  t.notOk(globPattern('test/apis/*.test.ts').test('test/apis/fixtures/x.test.ts'))
})

t.test('every test path cited in README.md, docs/ and .taprc exists', async (t) => {
  const testFiles = filesUnder('test')
  const missing: string[] = []
  for (const source of SOURCES) {
    for (const cited of new Set(citedPaths(fs.readFileSync(path.join(ROOT, source), 'utf8')))) {
      const found = cited.includes('*') ? testFiles.some((file) => globPattern(cited).test(file)) : fs.existsSync(path.join(ROOT, cited))
      if (!found) missing.push(`${source}: ${cited}`)
    }
  }
  t.same(missing, [], 'find the test by its content (grep) and cite its current path')
})
