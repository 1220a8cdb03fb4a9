// Shoelace's custom elements in Preact's JSX: any `sl-*` tag with any attributes and `onsl-*` events.
import 'preact';

declare module 'preact' {
  namespace JSX {
    interface IntrinsicElements {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      [tag: `sl-${string}`]: any;
    }
  }
}
