/**
 * Where mail goes: an SMTP server through nodemailer (SMTP_URL), or — without one — the log in
 * development (bodies included, so the links can be followed) and nowhere in production.
 */
import nodemailer from 'nodemailer'
import type { Logger } from 'pino'
import type { MailMessage } from './message.js'

export interface MailTransport {
  readonly kind: 'smtp' | 'log' | 'none'
  send(message: MailMessage): Promise<void>
  close(): void
}

export function smtpTransport(url: string, from: string): MailTransport {
  // Bounded timeouts: a stuck mail server must not hold a delivery slot forever.
  const transporter = nodemailer.createTransport(
    { url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 },
    { from },
  )
  return {
    kind: 'smtp',
    async send(message) {
      await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html })
    },
    close: () => transporter.close(),
  }
}

export function logTransport(log: Logger): MailTransport {
  return {
    kind: 'log',
    async send(message) {
      // Development only: the body carries single-use links, which is the point of logging it here.
      log.info({ event: 'mail_logged', to: message.to, subject: message.subject }, `mail (no SMTP_URL, development):\n${message.text}`)
    },
    close: () => undefined,
  }
}

export function discardTransport(log: Logger): MailTransport {
  return {
    kind: 'none',
    async send(message) {
      log.warn({ event: 'mail_dropped', to: message.to, subject: message.subject }, 'mail not sent: SMTP_URL is not set')
    },
    close: () => undefined,
  }
}
