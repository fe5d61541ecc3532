// Footfall dashboard: behaviour every page shares. Loaded as a module (deferred); pages
// work without it, it only adds conveniences.
import { enableCopyButtons } from './copy.js';
import { startLiveHeader } from './live.js';

/** Show stored times (`<time data-ts="unix seconds">`) in the reader's own time zone. */
function localiseTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  for (const node of root.querySelectorAll('time[data-ts]')) {
    const date = new Date(Number(node.dataset.ts) * 1000);
    if (Number.isNaN(date.getTime())) continue;
    node.dateTime = date.toISOString();
    node.title = date.toISOString();
    node.textContent = format.format(date);
  }
}

/** Preselect the browser's time zone in a fresh "add a site" form. */
function detectTimezone(root) {
  const select = root.querySelector('select[data-detect-timezone]');
  if (!select) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && [...select.options].some((option) => option.value === zone)) select.value = zone;
}

/** Keep a destructive submit button disabled until the confirmation text matches. */
function guardConfirmations(root) {
  for (const form of root.querySelectorAll('form[data-confirm-form]')) {
    const input = form.querySelector('[data-confirm-match]');
    const button = form.querySelector('[data-confirm-submit]');
    if (!input || !button) continue;
    const update = () => {
      button.disabled = input.value.trim().toLowerCase() !== input.dataset.confirmMatch;
    };
    input.addEventListener('input', update);
    update();
  }
}

/** Close the site menu with Escape or a click elsewhere, returning focus to it. */
function siteMenu(root) {
  const menu = root.querySelector('[data-site-menu]');
  if (!menu) return;
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && menu.open) {
      menu.open = false;
      menu.querySelector('summary').focus();
    }
  });
  root.addEventListener('click', (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
}

enableCopyButtons(document);
localiseTimes(document);
detectTimezone(document);
guardConfirmations(document);
siteMenu(document);
startLiveHeader(document);
