/**
 * WCAG 2.x contrast (SC 1.4.3) as BRAND_COLOR is checked with, the dark-scheme accent derived
 * from it, and the page colours those checks assume, kept equal to src/http/assets/style.css.
 */
import fs from 'node:fs'
import t from 'tap'
import { SCHEMES, brandStylesheet, darkSchemeAccent } from '../../src/branding/brand.js'
import {
  adjustForContrast,
  contrastRatio,
  formatRatio,
  mix,
  parseHexColor,
  relativeLuminance,
  toHex,
  type Rgb,
} from '../../src/branding/contrast.js'

const rgb = (hex: string): Rgb => parseHexColor(hex)!
const WHITE = rgb('#ffffff')
const BLACK = rgb('#000000')

t.test('parseHexColor takes #rrggbb only', async (t) => {
  t.same(parseHexColor('#3B5bdb'), [0x3b, 0x5b, 0xdb])
  t.same(parseHexColor(' #000000 '), [0, 0, 0])
  for (const bad of ['3b5bdb', '#fff', '#3b5bdb80', 'blue', '#gggggg', 'rgb(0,0,0)', '']) t.equal(parseHexColor(bad), null, bad)
  t.equal(toHex([59, 91, 219]), '#3b5bdb')
})

t.test('relative luminance follows WCAG 2.x', async (t) => {
  t.equal(relativeLuminance(WHITE), 1)
  t.equal(relativeLuminance(BLACK), 0)
  // Pure primaries are their channel weights.
  t.equal(relativeLuminance(rgb('#ff0000')), 0.2126)
  t.equal(relativeLuminance(rgb('#00ff00')), 0.7152)
  t.equal(relativeLuminance(rgb('#0000ff')), 0.0722)
  // Mid grey #808080: ((128/255 + 0.055) / 1.055) ^ 2.4 ≈ 0.2159.
  t.ok(Math.abs(relativeLuminance(rgb('#808080')) - 0.2159) < 0.0001)
})

t.test('contrast ratios match well-known values', async (t) => {
  t.equal(contrastRatio(BLACK, WHITE), 21)
  t.equal(contrastRatio(WHITE, BLACK), 21, 'order does not matter')
  t.equal(contrastRatio(rgb('#3b5bdb'), rgb('#3b5bdb')), 1)
  // #767676 is the lightest grey with 4.5:1 on white; #777777 just misses it (4.48:1).
  t.ok(contrastRatio(rgb('#767676'), WHITE) >= 4.5)
  t.ok(contrastRatio(rgb('#777777'), WHITE) < 4.5)
  t.equal(formatRatio(contrastRatio(rgb('#777777'), WHITE)), '4.47:1', 'truncated, never rounded up to a pass')
  t.equal(formatRatio(21), '21:1')
})

t.test('mix and adjustForContrast', async (t) => {
  t.same(mix(BLACK, WHITE, 0.5), [128, 128, 128])
  t.same(mix(rgb('#3b5bdb'), WHITE, 0), rgb('#3b5bdb'))
  t.same(mix(rgb('#3b5bdb'), WHITE, 1), WHITE)
  t.same(adjustForContrast(BLACK, WHITE, [WHITE]), BLACK, 'already enough: unchanged')
  const lifted = adjustForContrast(rgb('#1d4ed8'), WHITE, [rgb('#12151c')])!
  t.ok(contrastRatio(lifted, rgb('#12151c')) >= 4.5)
  t.equal(adjustForContrast(rgb('#808080'), WHITE, [rgb('#eeeeee')]), null, 'white on a light background can never reach it')
})

t.test('the dark-scheme accent reads on the dark backgrounds and under dark button text', async (t) => {
  const dark = Object.values(SCHEMES.dark).map(rgb)
  for (const color of ['#000000', '#3b5bdb', '#1d4ed8', '#b42318', '#0f766e', '#5b21b6', '#111111', '#7a5900']) {
    const accent = rgb(darkSchemeAccent(color))
    for (const background of dark) t.ok(contrastRatio(accent, background) >= 4.5, `${color} → ${toHex(accent)} on ${toHex(background)}`)
  }
  t.equal(darkSchemeAccent('#ffffff'), '#ffffff')
})

t.test('brand stylesheet: the accent for both schemes only with a colour', async (t) => {
  const plain = brandStylesheet(null)
  t.notMatch(plain, '--accent')
  t.match(plain, '.brand-footer')
  const branded = brandStylesheet({ light: '#0f766e', dark: '#4fb3aa' })
  t.match(branded, ':root { --accent: #0f766e; --accent-text: #ffffff; }')
  t.match(branded, /@media \(prefers-color-scheme: dark\) \{ :root \{ --accent: #4fb3aa; --accent-text: #0b1020; \} \}/)
  t.notMatch(branded, /</, 'no markup')
})

/** The custom properties of the first `:root` block in `css`. */
function rootVariables(css: string): Record<string, string> {
  const block = /:root\s*\{([^}]*)\}/.exec(css)?.[1] ?? ''
  return Object.fromEntries([...block.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim().toLowerCase()]))
}

t.test('SCHEMES are the colours of the built-in style.css (light and dark)', async (t) => {
  const css = fs.readFileSync(new URL('../../src/http/assets/style.css', import.meta.url), 'utf8')
  const light = rootVariables(css)
  const darkStart = css.indexOf('prefers-color-scheme: dark')
  t.ok(darkStart > 0, 'style.css has a dark scheme')
  const dark = rootVariables(css.slice(darkStart))
  for (const [scheme, vars] of [
    ['light', light],
    ['dark', dark],
  ] as const) {
    const expected = SCHEMES[scheme]
    t.equal(vars['--bg'], expected.bg, `${scheme} --bg`)
    t.equal(vars['--card'], expected.card, `${scheme} --card`)
    t.equal(vars['--accent-text'], expected.accentText, `${scheme} --accent-text`)
  }
})
