// placeholder replaced below
export {}
