// Copy buttons: `<button data-copy="ID">` copies the text of the element with that id and
// reports it in `[data-copy-status="ID"]` (a live region, so screen readers hear it).

/** Copy `text`: the Clipboard API where the page is a secure context, else a selection. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP pages on a LAN address have no Clipboard API: copy through a selection.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

export function enableCopyButtons(root) {
  for (const button of root.querySelectorAll('button[data-copy]')) {
    const id = button.dataset.copy;
    const source = document.getElementById(id);
    const status = root.querySelector(`[data-copy-status="${id}"]`);
    if (!source) continue;
    button.addEventListener('click', async () => {
      try {
        await copyText(source.textContent);
        if (status) status.textContent = 'Copied to the clipboard.';
        button.textContent = 'Copied';
      } catch {
        // Leave the text selected so the reader can copy it by hand.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) status.textContent = 'Press Ctrl+C (⌘C) to copy the selected text.';
      }
      window.setTimeout(() => { button.textContent = 'Copy'; }, 2500);
    });
  }
}
