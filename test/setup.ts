// libp2p 3 needs Promise.withResolvers, missing from Node 20.
import "../src/lib/polyfill.js";
