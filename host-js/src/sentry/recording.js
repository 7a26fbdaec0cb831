// rrweb record options with Sentry's privacy defaults (getsentry/sentry-javascript
// packages/replay-internal src/integration.ts, src/util/getPrivacyOptions.ts, src/util/maskAttribute.ts):
// all text and inputs masked and all media blocked unless turned off; the same class / data-attribute
// selectors; `mask`, `unmask`, `block`, `unblock`, `ignore` add to them.

import { guard } from './events.js';

const MEDIA = 'img,image,svg,video,object,picture,embed,map,audio,link[rel="icon"],link[rel="apple-touch-icon"]';
const join = (mine, defaults) => [...(mine || []), ...defaults].join(',');

/** The recorder options and the attribute-masking function (also used for breadcrumb messages). */
export function recordOptions(o) {
  const maskAllText = o.maskAllText !== false;
  const maskAllInputs = o.maskAllInputs !== false;
  const blockAllMedia = o.blockAllMedia !== false;
  const unmaskTextSelector = join(o.unmask, []);
  const maskAttributes = o.maskAttributes || ['title', 'placeholder', 'aria-label'];
  const maskAttr = (key, value, el) => {
    if (unmaskTextSelector && el.matches(unmaskTextSelector)) return value;
    const submit = maskAllText && key === 'value' && el.tagName === 'INPUT' && ['submit', 'button'].includes(el.getAttribute('type') || '');
    return maskAttributes.includes(key) || submit ? value.replace(/\S/g, '*') : value;
  };
  let blockSelector = join(o.block, ['.sentry-block', '[data-sentry-block]', 'base', 'iframe[srcdoc]:not([src])']);
  if (blockAllMedia) blockSelector += ',' + MEDIA;
  const options = {
    maskAllInputs,
    maskAllText,
    maskInputOptions: { password: true },
    maskTextFn: o.maskFn,
    maskInputFn: o.maskFn,
    maskAttributeFn: maskAttr,
    maskTextSelector: join(o.mask, ['.sentry-mask', '[data-sentry-mask]']),
    unmaskTextSelector,
    blockSelector,
    unblockSelector: join(o.unblock, []),
    ignoreSelector: join(o.ignore, ['.sentry-ignore', '[data-sentry-ignore]', 'input[type="file"]']),
    slimDOMOptions: 'all',
    // Sentry also passes inlineStylesheet: true and inlineImages: false, the recorder's own defaults
    // (@sentry-internal/rrweb record()).
    collectFonts: true,
    // Errors thrown inside the recorder are marked so the integration can drop them like Sentry does.
    errorHandler: guard((err) => {
      err.__rrweb__ = true;
    }),
  };
  if (blockAllMedia) options.ignoreCSSAttributes = new Set(['background-image']);
  return { _options: options, _maskAttr: maskAttr, _flags: { maskAllText, maskAllInputs, blockAllMedia } };
}
