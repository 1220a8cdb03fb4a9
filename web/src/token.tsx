// Token entry: a dialog that keeps the token in sessionStorage (gone when the tab closes) and
// reports whether one is set, which is what enables the feedback buttons (the server decides).

import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, setToken } from './api';

export function TokenButton(props: { onChange: (hasToken: boolean) => void }) {
  const [open, setOpen] = useState(false);
  const [has, setHas] = useState(getToken() !== '');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => props.onChange(has), [has]);
  const save = () => {
    setToken(input.current?.value.trim() ?? '');
    setHas(getToken() !== '');
    setOpen(false);
  };
  return (
    <>
      <sl-button size="small" data-testid="token" onClick={() => setOpen(true)}>
        {has ? 'Token ✓' : 'Token'}
      </sl-button>
      <sl-dialog label="Access token" open={open} onsl-after-hide={(e: Event) => e.target === e.currentTarget && setOpen(false)}>
        <p>A read token browses; a write token on a branch also records thumbs and ratings. It is kept for this tab only.</p>
        <sl-input ref={input} type="password" data-testid="token-input" placeholder="qv_…" password-toggle value={getToken()} onKeyDown={(e: KeyboardEvent) => e.key === 'Enter' && save()} />
        <sl-button slot="footer" variant="primary" data-testid="token-save" onClick={save}>
          Save
        </sl-button>
        <sl-button slot="footer" onClick={() => { setToken(''); setHas(false); setOpen(false); }}>
          Clear
        </sl-button>
      </sl-dialog>
    </>
  );
}
