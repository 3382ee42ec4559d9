/**
 * The words of the mail confirming that a user deleted their own account (self-service.ts). It
 * greets without a name and links nowhere: the account is gone, so there is nothing to review and
 * nothing about the person is kept to build it from.
 */
import type { MailContent } from '../mail/message.js'

export function accountDeletedMail(issuer: string): MailContent {
  return {
    subject: 'Your account was deleted',
    paragraphs: [
      'Hello,',
      `Your account at ${new URL(issuer).host} was deleted at your request, together with its data. You were signed out everywhere, and the applications you had allowed no longer have access.`,
      'You cannot sign in with this address any more. If you did not delete your account, contact your administrator right away.',
    ],
  }
}
