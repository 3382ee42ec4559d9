/**
 * Which raster image a file is, by its first bytes (never by its name or a Content-Type header):
 * for the brand's logo file (config/branding.ts) and clients' logos (clients/client-logo.ts).
 * SVG is not among them: it is text that can carry script, judged separately where it is allowed.
 */
export type RasterImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp'

/** Logos are small; this bounds what every page and mail carries. */
export const MAX_LOGO_BYTES = 256 * 1024

const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex')
const JPEG_SIGNATURE = Buffer.from('ffd8ff', 'hex')

export function rasterImageType(bytes: Buffer): RasterImageType | null {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png'
  if (bytes.subarray(0, 3).equals(JPEG_SIGNATURE)) return 'image/jpeg'
  const head = bytes.subarray(0, 12).toString('latin1')
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'image/gif'
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image/webp'
  return null
}
