export const PACKAGE_NAME = '@hpf/loss';
