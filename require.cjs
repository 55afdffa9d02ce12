'use strict';
// The CommonJS entry: gradpipe is an ES module, which Node loads through require() from 20.19 (and 22.12) on.
// On an older Node, one clear error instead of ERR_REQUIRE_ESM from deep inside.
try {
  module.exports = require('./dist/src/index.js');
} catch (e) {
  if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      `gradpipe: require('gradpipe') needs Node >= 20.19 (this is ${process.version}); use import('gradpipe') or upgrade Node`,
      { cause: e },
    );
  }
  throw e;
}
