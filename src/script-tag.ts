// The IIFE entry for merchants without a build step: <script src="inpage.iife.js"> gives window.InPage.

export * from './index'
