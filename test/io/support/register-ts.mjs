// `node --import <this file> script.mjs`: registers ts-hooks.mjs so the script can import src/**/*.ts.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
