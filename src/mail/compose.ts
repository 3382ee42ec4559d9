import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import type { MailContent, MailMessage } from './message.js'

export type MailComposer = (to: string, content: MailContent) => MailMessage

/** The HTML body goes through Eta with auto-escaping, like every page; the text body is plain. */
export function createMailComposer(productName = 'Tessera'): MailComposer {
  const eta = new Eta({ views: fileURLToPath(new URL('./templates/', import.meta.url)), autoEscape: true, autoTrim: false, cache: true })
  return (to, content) => {
    const text = [
      ...content.paragraphs,
      ...(content.action ? [`${content.action.label}: ${content.action.url}`] : []),
      `— ${productName}`,
    ].join('\n\n')
    const html = eta.render('./mail', { productName, subject: content.subject, paragraphs: content.paragraphs, action: content.action })
    return { to, subject: content.subject, text: `${text}\n`, html }
  }
}
