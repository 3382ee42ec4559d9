import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import type { FastifyReply } from 'fastify'
import type { ErrorView } from '../../errors/to-response.js'

/** Templates escape every `<%= %>` by default (autoEscape); raw output is never used. */
export interface Views {
  render(template: string, data: Record<string, unknown>): string
  errorPage(view: ErrorView): string
}

export function createViews(productName = 'Tessera'): Views {
  const eta = new Eta({ views: fileURLToPath(new URL('./templates/', import.meta.url)), autoEscape: true, autoTrim: false, cache: true })
  const render = (template: string, data: Record<string, unknown>) => eta.render(`./${template}`, { productName, ...data })
  return {
    render,
    errorPage: (view) => render('error', { title: view.title, description: view.description, status: view.status }),
  }
}

/** Every page carries user-specific content or a form token: never stored by caches. */
export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
}
