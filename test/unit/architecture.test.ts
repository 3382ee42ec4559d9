/**
 * The layering the README's "How it is built" describes, checked on every import in src/: the
 * protocol rules (oauth/) never import storage (db/) or the HTTP layer, storage never imports the
 * rules or the HTTP layer, and what both share lives in model/, which imports none of them (or
 * storage would depend on the rules through it).
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'

const SRC = path.resolve(import.meta.dirname, '../../src')

/** Folder under src/ → the folders under src/ it must not import from. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  db: ['oauth', 'http'],
  oauth: ['db', 'http'],
  model: ['db', 'http', 'oauth'],
}

/**
 * Known violations that need more than moving a type (file → imported folder, with why). Empty:
 * add an entry only with the reason and an issue to remove it.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([])

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

/** Relative specifiers of static imports, re-exports and dynamic imports (type-only ones too). */
function importsOf(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm
  return [...source.matchAll(pattern)].map((match) => match[1]!)
}

/** The top folder under src/ of a file or import target ('' for src/ itself). */
const topFolder = (file: string): string => {
  const parts = path.relative(SRC, file).split(path.sep)
  return parts.length > 1 ? parts[0]! : ''
}

t.test('importsOf finds every form of relative import', async (t) => {
  const source = [
    "import { a } from '../db/a.js'",
    "import type { B } from '../http/b.js'",
    "export { c } from './c.js'",
    "export type { D } from '../model/d.js'",
    "const e = await import('../oauth/e.js')",
    "import '../side-effect.js'",
    "import pino from 'pino'",
  ].join('\n')
  t.same(importsOf(source), ['../db/a.js', '../http/b.js', './c.js', '../model/d.js', '../oauth/e.js', '../side-effect.js'])
})

t.test('rules never import storage, storage never imports rules, the model imports neither', async (t) => {
  const violations: string[] = []
  for (const file of sourceFiles(SRC)) {
    const forbidden = FORBIDDEN[topFolder(file)]
    if (!forbidden) continue
    for (const specifier of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = topFolder(path.resolve(path.dirname(file), specifier))
      const edge = `${path.relative(SRC, file)} → ${target}/`
      if (forbidden.includes(target) && !ALLOWED.has(edge)) violations.push(`${edge} (${specifier})`)
    }
  }
  t.same(violations, [], 'move what both sides need into src/model/')
})
