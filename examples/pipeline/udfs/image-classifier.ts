// Seed guide step 3: an actor UDF. The constructor is where a real pipeline loads its model
// (once per actor process); `call(batch)` runs per batch. Here the "model" decodes each image
// with sharp and labels decodable images 'invoice', the rest 'other', as the guide's toy does.

import * as arrow from 'apache-arrow';
import sharp from 'sharp';

export class ImageClassifier {
  readonly labels = ['invoice', 'claim', 'other'] as const;

  async call(batch: arrow.Table): Promise<Record<string, unknown>[]> {
    const bytes = batch.getChild('image_bytes')!;
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < batch.numRows; i++) {
      const value = bytes.get(i) as Uint8Array | null;
      const ok = value !== null && value.byteLength > 0 && (await sharp(value).metadata().then(() => true, () => false));
      out.push({
        id: batch.getChild('id')!.get(i),
        path: batch.getChild('path')!.get(i),
        media_type: batch.getChild('media_type')!.get(i),
        label: ok ? this.labels[0] : this.labels[2],
        score: ok ? 1.0 : 0.0,
      });
    }
    return out;
  }
}
