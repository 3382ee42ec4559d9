/**
 * Colour contrast as WCAG 2.x defines it (SC 1.4.3 Contrast (Minimum), AA: 4.5:1 for normal
 * text), used to refuse a BRAND_COLOR that would make buttons or links hard to read, and to
 * derive the dark-scheme variant of the brand colour.
 */

/** A `#rrggbb` colour as three 0–255 channels. */
export type Rgb = readonly [number, number, number]

/** SC 1.4.3: normal-size text against its background. */
export const MIN_TEXT_CONTRAST = 4.5

/** `#rrggbb` (any case) → channels; null for anything else (no shorthand, no names). */
export function parseHexColor(raw: string): Rgb | null {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(raw.trim())
  if (!match) return null
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)]
}

export function toHex(rgb: Rgb): string {
  return `#${rgb.map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('')}`
}

/** WCAG 2.x relative luminance: sRGB channels linearised, weighted 0.2126 / 0.7152 / 0.0722. */
export function relativeLuminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((channel) => {
    const c = channel / 255
    // WCAG 2.x writes 0.03928; sRGB's 0.04045 gives the same result for 8-bit values.
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

/** (L1 + 0.05) / (L2 + 0.05), the lighter over the darker: 1 to 21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

/** Truncated, not rounded, for messages: 4.49 must never print as 4.5. */
export const formatRatio = (ratio: number): string => `${Math.floor(ratio * 100) / 100}:1`

/** `color` moved `amount` (0–1) of the way towards `target`, per channel. */
export function mix(color: Rgb, target: Rgb, amount: number): Rgb {
  return color.map((channel, i) => Math.round(channel + (target[i]! - channel) * amount)) as unknown as Rgb
}

/**
 * The first mix of `color` towards `target` (in steps of 1/20) that reaches `min` against every
 * colour in `against`. `target` should be white or black, so the last step always succeeds for
 * dark or light backgrounds respectively; null when even the target itself does not.
 */
export function adjustForContrast(color: Rgb, target: Rgb, against: readonly Rgb[], min = MIN_TEXT_CONTRAST): Rgb | null {
  for (let step = 0; step <= 20; step++) {
    const candidate = mix(color, target, step / 20)
    if (against.every((other) => contrastRatio(candidate, other) >= min)) return candidate
  }
  return null
}
