import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
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
