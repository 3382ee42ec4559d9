/** THEME_DIR at render time: Eta reading a theme's template before the built-in file of that name. */
import path from 'node:path'
import { Eta } from 'eta'
import type { Theme } from '../config/branding.js'

/**
 * An Eta whose templates come from `theme` when it has a file of that name (read and compiled at
 * start, config/branding.ts) and from `dir` otherwise: file by file, so a theme's layout.eta wraps
 * the built-in pages and a theme's login.eta uses the built-in layout. Auto-escaping stays on.
 */
export function themedEta(dir: string, theme: Theme | null): Eta {
  const eta = new Eta({ views: dir, autoEscape: true, autoTrim: false, cache: true })
  const builtIn = eta.readFile
  if (theme !== null && theme.templates.size > 0) {
    eta.readFile = function (file: string): string {
      const override = path.dirname(file) === path.resolve(dir) ? theme.templates.get(path.basename(file)) : undefined
      return override ?? builtIn.call(this, file)
    }
  }
  return eta
}
