// Light and dark: the system's choice (prefers-color-scheme) unless the person picks one with the toggle.
import { computed, ref } from 'vue'

export type ThemeMode = 'auto' | 'light' | 'dark'

const STORAGE_KEY = 'castflow.theme'
const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null

function storedMode(): ThemeMode {
  const value = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY)
  return value === 'light' || value === 'dark' ? value : 'auto'
}

export const themeMode = ref<ThemeMode>(storedMode())
const systemDark = ref(media?.matches ?? false)
media?.addEventListener('change', (event) => {
  systemDark.value = event.matches
})

/** True when the page is dark right now. */
export const isDark = computed(() => themeMode.value === 'dark' || (themeMode.value === 'auto' && systemDark.value))

/** The mode after the toggle: the other look; 'auto' when that is what the system prefers anyway. */
export function toggledMode(dark: boolean, prefersDark: boolean = systemDark.value): ThemeMode {
  const wantDark = !dark
  return wantDark === prefersDark ? 'auto' : wantDark ? 'dark' : 'light'
}

/** Set the mode, remember it, and mark <html> so the CSS follows. */
export function setThemeMode(mode: ThemeMode): void {
  themeMode.value = mode
  if (mode === 'auto') localStorage.removeItem(STORAGE_KEY)
  else localStorage.setItem(STORAGE_KEY, mode)
  applyTheme()
}

/** Put the current choice on <html data-theme>, which the stylesheet reads. */
export function applyTheme(): void {
  document.documentElement.dataset.theme = isDark.value ? 'dark' : 'light'
}
