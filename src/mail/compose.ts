import { fileURLToPath } from 'node:url'
import type { Brand } from '../branding/brand.js'
import type { Theme } from '../config/branding.js'
import { themedEta } from '../branding/theme.js'
import type { MailContent, MailMessage } from './message.js'

export type MailComposer = (to: string, content: MailContent) => MailMessage

/** What mails show of the brand (config.brand); the defaults are Tessera's own. */
export type MailBrand = Pick<Brand, 'name' | 'logoAbsoluteUrl' | 'links'> & { readonly color: string | null }

/** The built-in mail accent when BRAND_COLOR is unset: white text on it is 6.7:1. */
const DEFAULT_MAIL_COLOR = '#1d4ed8'

export const mailBrand = (brand: Brand): MailBrand => ({
  name: brand.name,
  logoAbsoluteUrl: brand.logoAbsoluteUrl,
  links: brand.links,
  // Mails are read on white: the light-scheme colour, checked against white at start.
  color: brand.color?.light ?? null,
})

const TESSERA: MailBrand = { name: 'Tessera', logoAbsoluteUrl: null, links: [], color: null }

/**
 * The HTML body goes through Eta with auto-escaping, like every page (THEME_DIR may replace
 * mail.eta); the text body is plain. Both carry the brand: its name in the body and as the
 * signature, its logo, colour and links, and the sender's display name (config.ts mailSender). The
 * subject stays the plain words: mail clients show the sender's name beside it already. Without a
 * brand (unit tests of the words), Tessera's look. Everything around the words — signature, link
 * labels, the hint under the button, `<html lang>` — is in the content's language; templates get
 * `it.t` and `it.lang` as pages do.
 */
export function createMailComposer(branded?: MailBrand, theme: Theme | null = null): MailComposer {
  const brand = branded ?? TESSERA
  const eta = themedEta(fileURLToPath(new URL('./templates/', import.meta.url)), theme)
  return (to, content) => {
    const words = content.translator
    // The label of each link is the message layout.link_<kind>, as on the pages.
    const links = brand.links.map((link) => ({ ...link, label: words.t(`layout.link_${link.kind}`) }))
    const signature = words.t('mail.signature', { brand: brand.name })
    const text = [
      ...content.paragraphs,
      ...(content.action ? [`${content.action.label}: ${content.action.url}`] : []),
      signature,
      ...(links.length > 0 ? [links.map((link) => `${link.label}: ${link.url}`).join('\n')] : []),
    ].join('\n\n')
    const html = eta.render('./mail', {
      productName: brand.name,
      brand: { ...brand, links, color: brand.color ?? DEFAULT_MAIL_COLOR },
      lang: words.locale,
      t: words.t,
      subject: content.subject,
      paragraphs: content.paragraphs,
      action: content.action,
    })
    return { to, subject: content.subject, text: `${text}\n`, html }
  }
}
