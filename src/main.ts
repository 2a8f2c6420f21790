import { mount } from 'svelte';
import App from './ui/App.svelte';
import './ui/global.css';
import { registerServiceWorker } from './store/sw_register';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
registerServiceWorker();
export default mount(App, { target });
