// The remote client's public face: `openRemote` (what `quiver.open('http://…')` calls) and its handle.
import { RemoteDataset, type RemoteOpenOptions } from './remote-dataset.js';
export { RemoteDataset, parseRemoteUrl, type RemoteOpenOptions, type RemoteStream, type RemoteVersionDiff } from './remote-dataset.js';

/** True for the URLs `open` hands to the remote client: http:// and https://. */
export function isRemoteUrl(url: unknown): url is string {
  return typeof url === 'string' && /^https?:\/\//i.test(url);
}

/** Opens a dataset served by a Quiver server: `http(s)://host:port/<dataset>/<branch>`. */
export function openRemote(url: string, options: RemoteOpenOptions = {}): Promise<RemoteDataset> {
  return RemoteDataset.open(url, options);
}
