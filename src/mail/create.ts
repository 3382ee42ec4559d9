/** Builds the mail outbox the configuration asks for: SMTP, the log (development) or nothing (production). */
import type { Logger } from 'pino'
import { isProduction, mailSender, type Config } from '../config/config.js'
import type { Outbox } from '../outbox/outbox.js'
import type { RetrySchedule } from '../outbox/retry.js'
import { createMailComposer, mailBrand } from './compose.js'
import { MAIL_RETRY_SCHEDULE, MailOutbox, type MailBuilder } from './outbox.js'
import { discardTransport, logTransport, smtpTransport, type MailTransport } from './transport.js'

/** Mail through the durable outbox: registers the `mail` handler with it. */
export function createMailOutbox<Job extends { readonly template: string }>(
  config: Config,
  log: Logger,
  outbox: Outbox,
  builder: MailBuilder,
  retry: Partial<RetrySchedule> = {},
): MailOutbox<Job> {
  const mailLog = log.child({ component: 'mail' })
  let transport: MailTransport
  if (config.smtpUrl !== null) transport = smtpTransport(config.smtpUrl, mailSender(config))
  else transport = isProduction(config) ? discardTransport(mailLog) : logTransport(mailLog)
  const mail = new MailOutbox<Job>({
    transport,
    log: mailLog,
    compose: createMailComposer(mailBrand(config.brand), config.theme),
    outbox,
    builder,
    retry: { ...MAIL_RETRY_SCHEDULE, ...retry },
  })
  outbox.register(mail.handler())
  return mail
}

/** Said once at start: where account mail goes when no SMTP server is configured. */
export function announceMailTransport(outbox: Pick<MailOutbox<never>, 'transportKind'>, log: Logger): void {
  if (outbox.transportKind === 'none')
    log.warn(
      { event: 'mail_disabled' },
      'SMTP_URL is not set: verification and password-reset mails will not be sent. Set SMTP_URL and MAIL_FROM.',
    )
  if (outbox.transportKind === 'log')
    log.info('SMTP_URL is not set: account mails are written to this log (development only; set SMTP_URL in production).')
}
