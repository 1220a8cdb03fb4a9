// Token entry: a dialog that keeps the token in sessionStorage (gone when the tab closes) and
// reports whether one is set. Every API call needs one; whether it may write, the server decides.

import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, setToken } from './api';

/** The token button and dialog; `ask` opens the dialog (the server refused the request's token). */
export function TokenButton(props: { ask: boolean; onChange: (hasToken: boolean) => void }) {
  const [open, setOpen] = useState(false);
  const [has, setHas] = useState(getToken() !== '');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setOpen((o) => o || props.ask), [props.ask]);
  useEffect(() => setHas(getToken() !== ''), []);
  const save = (token: string) => {
    setToken(token);
    setHas(getToken() !== '');
    setOpen(false);
    props.onChange(getToken() !== '');
  };
  return (
    <>
      <sl-button size="small" data-testid="token" onClick={() => setOpen(true)}>
        {has ? 'Token ✓' : 'Token'}
      </sl-button>
      <sl-dialog label="Access token" open={open} onsl-after-hide={(e: Event) => e.target === e.currentTarget && setOpen(false)}>
        <p>Every request needs a token (qv_…): a read token browses, a write token on a branch also records thumbs and ratings. It is kept for this tab only.</p>
        <sl-input ref={input} type="password" data-testid="token-input" placeholder="qv_…" password-toggle value={getToken()} onKeyDown={(e: KeyboardEvent) => e.key === 'Enter' && save(input.current?.value.trim() ?? '')} />
        <sl-button slot="footer" variant="primary" data-testid="token-save" onClick={() => save(input.current?.value.trim() ?? '')}>
          Save
        </sl-button>
        <sl-button slot="footer" onClick={() => save('')}>
          Clear
        </sl-button>
      </sl-dialog>
    </>
  );
}
