// The demo shop's page script: one Touchstone client, the PDP gallery test and the checkout
// free-shipping test. Defaults render first; a variant replaces them only when the server
// answers within the client's timeout; the exposure is reported when the variant shows.
import { Touchstone } from '/sdk/touchstone.js';

const params = new URLSearchParams(location.search);
const client = Touchstone.init({
  url: location.origin,
  clientKey: document.querySelector('meta[name="touchstone-client-key"]').content,
  unitId: params.get('unit') || undefined,
  timeoutMs: Number(params.get('timeout') || 800),
});
// For the browser tests and the curious: the client of this page.
window.touchstone = client;

const page = document.body.dataset.page;
const status = (text) => { document.getElementById('status').textContent = text; };
const attributes = { device: matchMedia('(max-width: 700px)').matches ? 'mobile' : 'desktop' };

async function productPage() {
  client.track('view_item');
  document.getElementById('add-to-cart').addEventListener('click', () => {
    client.track('add_to_cart');
    status('Added to cart');
  });
  const { assignments, answered } = await client.assign('pdp.gallery', attributes);
  const gallery = assignments.find((a) => a.experiment === 'pdp-gallery');
  if (gallery && gallery.payload.layout === 'grid') {
    const element = document.getElementById('gallery');
    element.className = `gallery grid${gallery.payload.zoom ? ' zoom' : ''}`;
    element.dataset.layout = 'grid';
  }
  if (gallery && !gallery.shipped) client.exposed(gallery.experiment, gallery.variant);
  document.body.dataset.assigned = answered ? 'answered' : 'default';
}

async function checkoutPage() {
  const cartValue = 42;
  client.track('begin_checkout');
  document.getElementById('add-payment').addEventListener('click', () => {
    client.track('add_payment_info');
    status('Payment info added');
  });
  document.getElementById('purchase').addEventListener('click', () => {
    client.track('purchase', { value: cartValue });
    status('Thank you for your order');
  });
  const { assignments, answered } = await client.assign('checkout.shipping', {
    ...attributes, country: params.get('country') || 'DE', cart_value: cartValue,
  });
  const shipping = assignments.find((a) => a.experiment === 'checkout-free-shipping');
  if (shipping) {
    document.getElementById('shipping-banner').textContent = shipping.payload.banner;
    if (!shipping.shipped) client.exposed(shipping.experiment, shipping.variant);
  }
  document.body.dataset.assigned = answered ? 'answered' : 'default';
}

(page === 'checkout' ? checkoutPage : productPage)();
