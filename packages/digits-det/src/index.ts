export const PACKAGE_NAME = '@hpf/digits-det';
