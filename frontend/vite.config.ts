/// <reference types="vitest/config" />
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// The API routes the dev server passes on to a running castflow (CASTFLOW_API_URL, default :5000).
const API_ROUTES = [
  '/upload', '/metadata', '/batches', '/invoice-data', '/categories', '/forecast-data',
  '/forecast-metrics', '/forecast-backtests', '/forecasts', '/mappings', '/health', '/ready',
]
const target = process.env.CASTFLOW_API_URL ?? 'http://127.0.0.1:5000'

export default defineConfig({
  plugins: [vue()],
  // Relative asset and API URLs: the app also works when a proxy serves castflow under a path prefix.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        manualChunks: (id) => (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')
          ? 'charts' : undefined),
      },
    },
  },
  server: {
    proxy: Object.fromEntries(API_ROUTES.map((route) => [route, { target, changeOrigin: false }])),
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
  },
})
