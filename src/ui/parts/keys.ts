/** Ctrl+Enter (⌘+Enter on a Mac) in a text area submits its form, as in most chat and prompt boxes. */
export function submitOnCtrlEnter(e: KeyboardEvent): void {
  if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey)) return;
  e.preventDefault();
  (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
}
