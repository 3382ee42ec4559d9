import type { Translator } from '../i18n/translator.js'

/** What Tessera sends: plain words plus at most one link, rendered as text and as simple HTML. */
export interface MailContent {
  /**
   * The language the words are in: the composer writes the rest of the mail (signature, link
   * labels, `<html lang>`) in the same one, so a mail never mixes two.
   */
  readonly translator: Translator
  readonly subject: string
  readonly paragraphs: readonly string[]
  readonly action?: { readonly label: string; readonly url: string }
}

export interface MailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string
}
