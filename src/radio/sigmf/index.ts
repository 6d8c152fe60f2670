/** SigMF recording and replay: writer, reader, repair, replay source. See docs/sigmf.md. */
export * from './errors.js';
export * from './datatype.js';
export * from './meta.js';
export * from './validate.js';
export * from './fs.js';
export { writeTar, listTar, type TarMember, type TarMemberSource } from './tar.js';
export * from './writer.js';
export * from './reader.js';
export * from './repair.js';
export * from './replay.js';
export * from './info.js';
export * from './rx-recorder.js';
