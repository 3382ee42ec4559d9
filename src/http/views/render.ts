import { fileURLToPath } from 'node:url'
import type { FastifyReply } from 'fastify'
import type { Brand } from '../../branding/brand.js'
import { themedEta } from '../../branding/theme.js'
import type { Theme } from '../../config/branding.js'
import type { ErrorView } from '../../errors/to-response.js'
import { SOURCE_LOCALE, type Locale } from '../../i18n/locales.js'
import type { I18n } from '../../i18n/translator.js'

/** Templates escape every `<%= %>` by default (autoEscape); raw output (`<%~`) is only for `it.rich`, which escapes its values. */
export interface Views {
  /** A page in a language (English when none is given): templates get `it.t`, `it.rich`, `it.dateTime` and `it.lang`. */
  render(template: string, data: Record<string, unknown>, locale?: Locale): string
  errorPage(view: ErrorView, locale: Locale): string
}

/** What every template receives as `it.brand` (docs/theming.md lists the whole contract). */
export interface BrandView {
  readonly name: string
  readonly logoUrl: string | null
  readonly stylesheetUrl: string
  readonly links: readonly { readonly kind: string; readonly url: string }[]
}

export const brandView = (brand: Brand): BrandView => ({
  name: brand.name,
  logoUrl: brand.logoUrl,
  stylesheetUrl: brand.stylesheet.path,
  links: brand.links,
})

const DEFAULT_BRAND: BrandView = { name: 'Tessera', logoUrl: null, stylesheetUrl: '', links: [] }

export function createViews(i18n: I18n, brand: BrandView = DEFAULT_BRAND, theme: Theme | null = null): Views {
  const eta = themedEta(fileURLToPath(new URL('./templates/', import.meta.url)), theme)
  const render = (template: string, data: Record<string, unknown>, locale: Locale = SOURCE_LOCALE) => {
    const words = i18n.translator(locale)
    return eta.render(`./${template}`, {
      productName: brand.name,
      brand,
      lang: locale,
      t: words.t,
      rich: words.rich,
      dateTime: words.dateTime,
      ...data,
    })
  }
  return {
    render,
    errorPage: (view, locale) => {
      const words = i18n.translator(locale)
      const title = words.t(`${view.page.key}.title`, view.page.values)
      return render(
        'error',
        {
          title,
          heading: title,
          description: words.t(`${view.page.key}.description`, view.page.values),
          status: view.status,
          detail: view.detail ?? null,
        },
        locale,
      )
    },
  }
}

/** Every page carries user-specific content or a form token: never stored by caches. */
export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html)
}
