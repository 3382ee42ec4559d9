/** Builds the outbox the configuration asks for: SMTP, the log (development) or nothing (production). */
import type { Logger } from 'pino'
import { isProduction, mailSender, type Config } from '../config/config.js'
import { createMailComposer } from './compose.js'
import { MailOutbox } from './outbox.js'
import { discardTransport, logTransport, smtpTransport, type MailTransport } from './transport.js'

export function createMailOutbox(config: Config, log: Logger, retryDelaysMs?: readonly number[]): MailOutbox {
  const mailLog = log.child({ component: 'mail' })
  let transport: MailTransport
  if (config.smtpUrl !== null) transport = smtpTransport(config.smtpUrl, mailSender(config))
  else transport = isProduction(config) ? discardTransport(mailLog) : logTransport(mailLog)
  return new MailOutbox({ transport, log: mailLog, compose: createMailComposer(), ...(retryDelaysMs ? { retryDelaysMs } : {}) })
}

/** Said once at start: where account mail goes when no SMTP server is configured. */
export function announceMailTransport(outbox: MailOutbox, log: Logger): void {
  if (outbox.transportKind === 'none')
    log.warn(
      { event: 'mail_disabled' },
      'SMTP_URL is not set: verification and password-reset mails will not be sent. Set SMTP_URL and MAIL_FROM.',
    )
  if (outbox.transportKind === 'log')
    log.info('SMTP_URL is not set: account mails are written to this log (development only; set SMTP_URL in production).')
}
