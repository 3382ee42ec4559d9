/**
 * Parsers of the BRAND_* variables and THEME_DIR. Files (the logo, the theme) are read here, at
 * start, so a missing or wrong file stops the start with one line naming its variable instead of
 * failing on the first page view.
 */
import { MAX_LOGO_BYTES, rasterImageType, type RasterImageType } from '../branding/image-type.js'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { SCHEMES } from '../branding/brand.js'
import type { LogoFile } from '../branding/brand.js'
import { contrastRatio, formatRatio, MIN_TEXT_CONTRAST, parseHexColor } from '../branding/contrast.js'
import { FieldProblem } from './fields.js'
import { readCatalogues } from '../i18n/catalogue.js'
import { readThemeMessages, type ThemeMessages } from '../i18n/theme-messages.js'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** BRAND_NAME: shown in titles, headings, mail bodies and the From header, so one short line. */
export function parseBrandName(raw: string | undefined): string {
  const name = (raw ?? '').trim()
  if (name === '') return 'Tessera'
  // Control characters (line breaks above all) would break the From header and page titles.
  if (/\p{Cc}/u.test(name)) throw new FieldProblem('must be one line without control characters')
  if ([...name].length > 80) throw new FieldProblem('must be at most 80 characters')
  return name
}

function absoluteUrl(raw: string): URL {
  try {
    return new URL(raw)
  } catch {
    throw new FieldProblem(`"${raw}" is not an absolute URL`)
  }
}

/** BRAND_SUPPORT_URL, BRAND_PRIVACY_URL, BRAND_TERMS_URL: https links for the footer and mails. */
export function parseBrandLink(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null
  const url = absoluteUrl(raw.trim())
  if (url.protocol !== 'https:') throw new FieldProblem('must be an https URL')
  if (url.username || url.password) throw new FieldProblem('must not contain credentials')
  return url.href
}

/**
 * BRAND_LOGO_URL: only on the issuer's own origin, so the CSP keeps `img-src 'self'` (a logo from
 * another origin would widen it for every page; BRAND_LOGO_FILE serves such a logo from here).
 * https, or http on loopback, as the issuer.
 */
export function parseLogoUrl(raw: string | undefined, issuer: unknown): string | null {
  if (raw === undefined || raw.trim() === '') return null
  const url = absoluteUrl(raw.trim())
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
    throw new FieldProblem('must be an https URL (http only on localhost)')
  if (typeof issuer === 'string' && url.origin !== new URL(issuer).origin)
    throw new FieldProblem(
      `must be on the issuer's origin ${new URL(issuer).origin} (the CSP allows images from there only); use BRAND_LOGO_FILE for a logo hosted elsewhere`,
    )
  return url.href
}

const raster = (contentType: RasterImageType) => (body: Buffer) => rasterImageType(body) === contentType

const LOGO_TYPES: Readonly<Record<string, { contentType: string; extension: string; looksRight: (body: Buffer) => boolean }>> = {
  '.png': { contentType: 'image/png', extension: 'png', looksRight: raster('image/png') },
  '.jpg': { contentType: 'image/jpeg', extension: 'jpg', looksRight: raster('image/jpeg') },
  '.jpeg': { contentType: 'image/jpeg', extension: 'jpg', looksRight: raster('image/jpeg') },
  '.webp': { contentType: 'image/webp', extension: 'webp', looksRight: raster('image/webp') },
  '.svg': { contentType: 'image/svg+xml', extension: 'svg', looksRight: (b) => /<svg[\s>]/.test(b.toString('utf8')) },
}

/** BRAND_LOGO_FILE: a PNG, JPEG, WebP or SVG file whose contents match its extension. */
export function readLogoFile(raw: string | undefined, logoUrl: unknown): LogoFile | null {
  if (raw === undefined || raw.trim() === '') return null
  if (typeof logoUrl === 'string') throw new FieldProblem('set BRAND_LOGO_URL or BRAND_LOGO_FILE, not both')
  const file = raw.trim()
  const type = LOGO_TYPES[path.extname(file).toLowerCase()]
  if (type === undefined) throw new FieldProblem(`${file} must be a .png, .svg, .webp, .jpg or .jpeg file`)
  let body: Buffer
  try {
    const size = fs.statSync(file).size
    if (size > MAX_LOGO_BYTES) throw new FieldProblem(`${file} is ${size} bytes; at most ${MAX_LOGO_BYTES} are allowed`)
    body = fs.readFileSync(file)
  } catch (error) {
    if (error instanceof FieldProblem) throw error
    throw new FieldProblem(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  if (!type.looksRight(body)) throw new FieldProblem(`${file} is not a ${type.extension.toUpperCase()} image`)
  return { contentType: type.contentType, extension: type.extension, body }
}

/**
 * BRAND_COLOR: a `#rrggbb` accent for buttons and links, refused when it cannot be read (WCAG 2.2
 * SC 1.4.3, 4.5:1): white button text on it, or it as link text on the light page or card. The
 * dark scheme uses a lightened variant (branding/brand.ts), checked by construction.
 */
export function parseBrandColor(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null
  const color = parseHexColor(raw)
  if (color === null) throw new FieldProblem(`"${raw}" is not a #rrggbb colour`)
  const { bg, card, accentText } = SCHEMES.light
  const checks = [
    { what: `white button text on it`, ratio: contrastRatio(color, parseHexColor(accentText)!) },
    { what: `as link text on the page background ${bg}`, ratio: contrastRatio(color, parseHexColor(bg)!) },
    { what: `as link text on the card ${card}`, ratio: contrastRatio(color, parseHexColor(card)!) },
  ]
  const failing = checks.filter((check) => check.ratio < MIN_TEXT_CONTRAST)
  if (failing.length > 0)
    throw new FieldProblem(
      `${raw.trim()} has too little contrast (${failing.map((check) => `${check.what} ${formatRatio(check.ratio)}`).join(', ')}; WCAG 2.2 SC 1.4.3 asks for 4.5:1): choose a darker colour`,
    )
  return raw.trim().toLowerCase()
}

/** THEME_DIR, read at start: the templates, stylesheet and messages that replace the built-in ones. */
export interface Theme {
  readonly dir: string
  /** File name (`login.eta`) → template text. */
  readonly templates: ReadonlyMap<string, string>
  /** Replaces src/http/assets/style.css when present. */
  readonly stylesheet: string | null
  /** THEME_DIR/messages: words that replace built-in messages, per language (i18n/theme-messages.ts). */
  readonly messages: ThemeMessages
}

const PAGE_TEMPLATES = fileURLToPath(new URL('../http/views/templates/', import.meta.url))
const MAIL_TEMPLATES = fileURLToPath(new URL('../mail/templates/', import.meta.url))

/** Every file name a theme may contain: the built-in page and mail templates, and style.css. */
export function themeableFiles(): ReadonlySet<string> {
  const templates = [PAGE_TEMPLATES, MAIL_TEMPLATES].flatMap((dir) => fs.readdirSync(dir).filter((name) => name.endsWith('.eta')))
  return new Set([...templates, 'style.css'])
}

/** Themes are a few small files; this bounds a mistaken THEME_DIR (a home folder…). */
const MAX_THEME_FILE_BYTES = 1024 * 1024

/**
 * THEME_DIR: every file must replace a built-in one (a misspelt name would otherwise be ignored
 * silently); dot-files (.DS_Store, .gitkeep) are skipped. Templates are compiled once here so a
 * syntax error stops the start. Escaping stays on: the views render with autoEscape.
 */
export function readTheme(raw: string | undefined): Theme | null {
  if (raw === undefined || raw.trim() === '') return null
  const dir = path.resolve(raw.trim())
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch (error) {
    throw new FieldProblem(`${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const known = themeableFiles()
  const templates = new Map<string, string>()
  let stylesheet: string | null = null
  const eta = new Eta({ autoEscape: true, autoTrim: false })
  let messages: ThemeMessages = new Map()
  for (const entry of entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === 'messages' && entry.isDirectory()) {
      try {
        messages = readThemeMessages(path.join(dir, 'messages'), readCatalogues())
      } catch (error) {
        throw new FieldProblem(`${error instanceof Error ? error.message : String(error)} in ${dir}`)
      }
      continue
    }
    if (!known.has(entry.name))
      throw new FieldProblem(`${entry.name} in ${dir} is not a built-in template, style.css or messages/ (see docs/theming.md)`)
    const file = path.join(dir, entry.name)
    let text: string
    try {
      if (fs.statSync(file).size > MAX_THEME_FILE_BYTES) throw new FieldProblem(`${entry.name} is larger than 1 MiB`)
      text = fs.readFileSync(file, 'utf8')
    } catch (error) {
      if (error instanceof FieldProblem) throw error
      throw new FieldProblem(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    if (entry.name === 'style.css') {
      stylesheet = text
      continue
    }
    try {
      eta.compile(text)
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]
      throw new FieldProblem(`${entry.name} in ${dir} does not compile: ${reason}`)
    }
    templates.set(entry.name, text)
  }
  return Object.freeze({ dir, templates, stylesheet, messages })
}
