/** File names inside a data directory: the layout is src/lib/datadir.ts's. */
import { DATA_DIR_FILES } from "../lib/datadir.js";

export const FILES = DATA_DIR_FILES;

/** Default ceremony timeout: 10 minutes. */
export const DEFAULT_DKG_TIMEOUT_MS = 10 * 60_000;
