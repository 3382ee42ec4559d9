/**
 * The words of the mail confirming that a user deleted their own account (self-service.ts). It
 * greets without a name and links nowhere: the account is gone, so there is nothing to review and
 * nothing about the person is kept to build it from — but the language they chose, which the job
 * carries (account-mail.ts).
 */
import type { Translator } from '../i18n/translator.js'
import type { MailContent } from '../mail/message.js'

export function accountDeletedMail(words: Translator, issuer: string): MailContent {
  return {
    translator: words,
    subject: words.t('mail.account_deleted.subject'),
    paragraphs: [
      words.t('mail.greeting_anonymous'),
      words.t('mail.account_deleted.text', { host: new URL(issuer).host }),
      words.t('mail.account_deleted.advice'),
    ],
  }
}
