/**
 * The Spotify Web API objects the operations return, as its OpenAPI description defines them. Responses are
 * passed through unchanged, so fields Spotify adds later are there at run time even before they are typed here.
 */

export interface SpotifyImage {
  url: string;
  height: number | null;
  width: number | null;
}

export interface SpotifyExternalUrls {
  spotify?: string;
}

export interface SpotifyExternalIds {
  isrc?: string;
  ean?: string;
  upc?: string;
}

/** A page of a collection. `next` is the absolute URL of the following page, null on the last one. */
export interface SpotifyPaging<T> {
  href: string;
  items: T[];
  limit: number;
  next: string | null;
  offset: number;
  previous: string | null;
  total: number;
}

export interface SpotifySimplifiedArtist {
  external_urls: SpotifyExternalUrls;
  href: string;
  id: string;
  name: string;
  type: 'artist';
  uri: string;
}

export interface SpotifyArtist extends SpotifySimplifiedArtist {
  followers?: { href: string | null; total: number };
  genres?: string[];
  images?: SpotifyImage[];
  popularity?: number;
}

export interface SpotifySimplifiedAlbum {
  album_type: 'album' | 'single' | 'compilation';
  total_tracks: number;
  available_markets: string[];
  external_urls: SpotifyExternalUrls;
  href: string;
  id: string;
  images: SpotifyImage[];
  name: string;
  release_date: string;
  release_date_precision: 'year' | 'month' | 'day';
  restrictions?: { reason?: string };
  type: 'album';
  uri: string;
  artists: SpotifySimplifiedArtist[];
}

export interface SpotifySimplifiedTrack {
  artists: SpotifySimplifiedArtist[];
  available_markets?: string[];
  disc_number: number;
  duration_ms: number;
  explicit: boolean;
  external_urls: SpotifyExternalUrls;
  href: string;
  id: string;
  is_playable?: boolean;
  is_local: boolean;
  name: string;
  preview_url?: string | null;
  track_number: number;
  type: string;
  uri: string;
}

export interface SpotifyTrack extends SpotifySimplifiedTrack {
  album: SpotifySimplifiedAlbum;
  external_ids: SpotifyExternalIds;
  popularity: number;
  type: 'track';
}

export interface SpotifyAlbum extends SpotifySimplifiedAlbum {
  tracks: SpotifyPaging<SpotifySimplifiedTrack>;
  copyrights: { text: string; type: string }[];
  external_ids: SpotifyExternalIds;
  genres: string[];
  label: string;
  popularity: number;
}

/** A podcast episode: playlists hold tracks and episodes. */
export interface SpotifyEpisode {
  id: string;
  name: string;
  uri: string;
  href: string;
  duration_ms: number;
  type: 'episode';
  [field: string]: unknown;
}

export interface SpotifyPlaylistUser {
  external_urls: SpotifyExternalUrls;
  href: string;
  id: string;
  type: 'user';
  uri: string;
  display_name?: string | null;
}

export interface SpotifySimplifiedPlaylist {
  collaborative: boolean;
  description: string | null;
  external_urls: SpotifyExternalUrls;
  href: string;
  id: string;
  images: SpotifyImage[] | null;
  name: string;
  owner: SpotifyPlaylistUser;
  public: boolean | null;
  snapshot_id: string;
  /** `href` and `total` of the playlist's items. */
  items?: { href: string; total: number };
  type: 'playlist';
  uri: string;
}

/** One entry of a playlist. `item` is null when the track is no longer available. */
export interface SpotifyPlaylistItem {
  added_at: string | null;
  added_by: SpotifyPlaylistUser | null;
  is_local: boolean;
  item: SpotifyTrack | SpotifyEpisode | null;
}

export interface SpotifyPlaylist extends Omit<SpotifySimplifiedPlaylist, 'items'> {
  followers?: { href: string | null; total: number };
  items?: SpotifyPaging<SpotifyPlaylistItem>;
}
