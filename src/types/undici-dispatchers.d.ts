// Type declarations for undici's dispatcher modules imported by path (see upstream/pools.ts).
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
declare module 'undici/lib/dispatcher/h2c-client.js' {
  import { H2CClient } from 'undici';
  export default H2CClient;
}
