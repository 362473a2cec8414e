export const PACKAGE_NAME = '@hpf/engine';
