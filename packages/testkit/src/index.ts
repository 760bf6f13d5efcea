/**
 * Test helpers that start real components on free loopback ports and clean up after themselves.
 * Nothing here is mocked: s3rver speaks S3 over HTTPS, rclone serves the restic REST protocol.
 */
export { tempDir, freePort, type TempDir } from './temp.js';
export { requireTool, type ToolCheck } from './tools.js';
export { makeCorpus, type CorpusOptions, type CorpusResult } from './corpus.js';
export { hashTree, diffTrees, type TreeEntry } from './hash-tree.js';
export { startS3Server, type S3Server } from './s3.js';
export { startRestServer, type RestServer, type RestServerOptions } from './rest.js';
export { startPostgres, startMariadb, findPostgres, findMariadb, type DbServer } from './databases.js';
export { startSftpServer, sshdPath, type SftpServer } from './sftp.js';
export { startWebdavServer, type WebdavServer } from './webdav.js';
export { rootfsTarball } from './rootfs.js';
export { processes, processInfo, environOf, allCmdlines, type ProcEntry } from './procs.js';
export { startDockerEngine, findDocker, postgresImage, postgresRootfs, runPostgresContainer, mariadbImage, mariadbRootfs, runMariadbContainer, imageCacheDir, POSTGRES_IMAGE, MARIADB_IMAGE, type DockerEngine, type ImageBuild } from './docker.js';
