import { fileURLToPath } from 'node:url'
import type { FastifyReply } from 'fastify'
import type { Brand } from '../../branding/brand.js'
import { themedEta } from '../../branding/theme.js'
import type { Theme } from '../../config/branding.js'
import type { ErrorView } from '../../errors/to-response.js'

/** Templates escape every `<%= %>` by default (autoEscape); raw output is never used. */
export interface Views {
  render(template: string, data: Record<string, unknown>): string
  errorPage(view: ErrorView): string
}

/** What every template receives as `it.brand` (docs/theming.md lists the whole contract). */
export interface BrandView {
  readonly name: string
  readonly logoUrl: string | null
  readonly stylesheetUrl: string
  readonly links: readonly { readonly label: string; readonly url: string }[]
}

export const brandView = (brand: Brand): BrandView => ({
  name: brand.name,
  logoUrl: brand.logoUrl,
  stylesheetUrl: brand.stylesheet.path,
  links: brand.links,
})

const DEFAULT_BRAND: BrandView = { name: 'Tessera', logoUrl: null, stylesheetUrl: '', links: [] }

export function createViews(brand: BrandView = DEFAULT_BRAND, theme: Theme | null = null): Views {
  const eta = themedEta(fileURLToPath(new URL('./templates/', import.meta.url)), theme)
  const render = (template: string, data: Record<string, unknown>) =>
    eta.render(`./${template}`, { productName: brand.name, brand, ...data })
  return {
    render,
    errorPage: (view) =>
      render('error', { title: view.title, description: view.description, status: view.status, detail: view.detail ?? null }),
  }
}

/** Every page carries user-specific content or a form token: never stored by caches. */
export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
}
